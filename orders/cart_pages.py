"""The cart page is cached per signed-in user (`shop.pagecache.user_page`); this keeps it current.

What the cached cart page shows, and what makes it a miss:
- the lines (products, quantities, the prices the buyer saw): any flush that adds, changes or
  deletes a `carts` or `cart_lines` row marks that cart's user (`pagecache.user_data_changed`),
  and after the commit their cart page is a miss — race-safe like a product's stock change: a
  page rendered while such a commit happens is not stored;
- each product's stock (the "only N left" warning, whether checkout is possible): per product,
  the page depends on the products it loads (stock records, sold counts: `shop.pagecache`);
- prices, names, villages, publishing: the page cache's global generation.

Rows the hook cannot attribute to a user (a line whose cart is not in the session, Core DML on
these tables) bump the global generation instead: every cached page becomes a miss, never a stale
cart. Guest carts (no user) are never cached, so their changes need nothing.

Registered at import of orders.models (every process that can change a cart imports it).
"""
from __future__ import annotations

CART_TABLES = frozenset({"carts", "cart_lines"})


def _cart_user(session, cart_id):
    """(found, user id) of a cart in the session's identity map (a lookup by key, no query)."""
    from orders.models import Cart

    cart = session.identity_map.get(session.identity_key(Cart, cart_id)) if cart_id is not None else None
    return (True, cart.__dict__.get("user_id")) if cart is not None else (False, None)


def _after_flush(session, _flush_context) -> None:
    from shop import pagecache

    users: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table == "carts":
            user_id = obj.__dict__.get("user_id")
        elif table == "cart_lines":
            found, user_id = _cart_user(session, obj.__dict__.get("cart_id"))
            if not found:
                pagecache.unknown_change(session)
                return
        else:
            continue
        if user_id is not None:
            users.add(user_id)
    if users:
        pagecache.user_data_changed(session, users)


def _do_orm_execute(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in CART_TABLES:
        from shop import pagecache

        pagecache.unknown_change(state.session)


def install() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import shop.pagecache  # noqa: F401  (its commit hooks apply what these listeners mark)

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
