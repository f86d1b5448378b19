"""The county office (县扶贫办): the household income ledger, registry, benefit links, review, targets."""
