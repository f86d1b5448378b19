"""The error codes this package raises (favourites) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, register_messages

MESSAGES = {
    "favourite_kind_invalid": N_("只能收藏商品或旅游项目"),
}

register_messages(MESSAGES)
