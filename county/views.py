"""HTML views of the county package."""
from flask import Blueprint

bp = Blueprint("county", __name__, url_prefix="/county")
