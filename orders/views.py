"""HTML views of the orders package."""
from flask import Blueprint

bp = Blueprint("orders", __name__)
