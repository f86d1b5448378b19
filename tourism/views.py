"""HTML views of the tourism package."""
from flask import Blueprint

bp = Blueprint("tourism", __name__)
