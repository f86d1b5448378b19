"""The rules of institutional buying: `organisations` (registration, verification, members, who sees
what) and `purchases` (drafts, submission, the second person's approval, placement as orders)."""
