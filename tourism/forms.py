"""Forms of the tourism pages (dates are Beijing calendar dates)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class BookingForm(FlaskForm):
    unit_type_id = SelectField(_l("房型/票种"), coerce=int, validators=[Optional()], validate_choice=False)
    session_id = SelectField(_l("场次"), coerce=int, validators=[Optional()], validate_choice=False)
    checkin = DateField(_l("入住/游玩日期"), validators=[Optional()])
    checkout = DateField(_l("离店日期"), validators=[Optional()])
    guests = IntegerField(_l("人数"), default=2, validators=[DataRequired(), NumberRange(min=1, max=100)])
    units = IntegerField(_l("间数"), default=1, validators=[Optional(), NumberRange(min=1, max=50)])
    payment_method = RadioField(
        _l("支付方式"), choices=[SelectChoice("card", _l("在线支付")), SelectChoice("arrival", _l("到店支付"))], default="card"
    )


class CheckInForm(FlaskForm):
    confirmation_code = StringField(_l("确认码"), validators=[DataRequired(), Length(min=1, max=12)])


class CloseDatesForm(FlaskForm):
    start = DateField(_l("从"), validators=[DataRequired()])
    end = DateField(_l("到（含）"), validators=[DataRequired()])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=120)])
