from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from shop.forms import ShopForm

#: The password rule: sign-up, reset, account setup and change all take it from `new_password_field`,
#: whose hint says it under the field before anyone is refused.
PASSWORD_MIN_LENGTH = 8


def new_password_field(label) -> PasswordField:
    """A new password's field: the rule's validators and, as its description, the rule in words."""
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=200)],
        description=lazy_ngettext("至少 %(num)s 个字符", "至少 %(num)s 个字符", PASSWORD_MIN_LENGTH),
    )


class LoginForm(ShopForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])


class RegisterForm(ShopForm):
    name = StringField(_l("称呼"), validators=[Length(max=80)])
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    password = new_password_field(_l("密码"))
    confirm = PasswordField(_l("确认密码"), validators=[DataRequired(), EqualTo("password")])
