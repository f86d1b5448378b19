from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from shop.forms import ShopForm


class LoginForm(ShopForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])


class RegisterForm(ShopForm):
    name = StringField(_l("称呼"), validators=[Length(max=80)])
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("确认密码"), validators=[DataRequired(), EqualTo("password")])
