"""Every Flask extension, created unbound. Nothing here imports the app; `create_app` binds them."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from shop.db import Base

#: join_transaction_mode lets tests bind the session to an outer connection whose transaction
#: is rolled back after each test (commit() in code becomes a SAVEPOINT release there).
db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
