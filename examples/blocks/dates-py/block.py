"""Reads free-form dates with python-dateutil (a pure-Python package from
PyPI, vendored at build time) and returns them as ISO dates, in order, with
the span between the first and the last."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Optional

from dateutil import parser
from dateutil.relativedelta import relativedelta

from sandflow_block import Context, InvalidInput, block

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# Annotated[T, "text"] gives a field its description in the block's JSON Schema.
@dataclass
class Params:
    dates: Annotated[list[str], 'Dates in any common form: "March 3rd 2024, 2pm", "2024-03-05", "5/3/24"']
    dayfirst: Annotated[bool, 'Read "5/3/24" as 5 March rather than May 3'] = False
    reference: Annotated[Optional[str], "Fills in what a date leaves out (a missing year, say); today when not given"] = None


@dataclass
class Parsed:
    input: str
    iso: Annotated[str, "ISO 8601: a date, or a date and time (with its UTC offset when the text had one)"]
    date: str
    weekday: str


@dataclass
class Span:
    days: int
    text: Annotated[str, 'The span in words: "1 year, 2 months and 3 days"']


@dataclass
class Dates:
    dates: Annotated[list[Parsed], "The dates in the order given"]
    earliest: str
    latest: str
    span: Span


def parse(text: str, where: str, default: datetime, dayfirst: bool) -> datetime:
    try:
        return parser.parse(text, default=default, dayfirst=dayfirst)
    except (ValueError, OverflowError) as e:
        raise InvalidInput(f"{where}: cannot read {text!r} as a date ({e})") from None


def iso(moment: datetime) -> str:
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0) and moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.isoformat()


def in_words(delta: relativedelta) -> str:
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((delta.years, "year"), (delta.months, "month"), (delta.days, "day"),
                             (delta.hours, "hour"), (delta.minutes, "minute")) if n]
    if not parts:
        return "no time"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@block(name="dates", version="0.1.0",
       description="Reads free-form dates and returns them as ISO dates, with the span between the earliest and the latest")
def run(params: Params, ctx: Context) -> Dates:
    if not params.dates:
        raise InvalidInput("dates: give at least one date")
    # Read the clock here, in the run: module-level code runs once, at build time.
    today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    default = parse(params.reference, "reference", today, params.dayfirst) if params.reference else today
    moments = [parse(text, f"dates[{i}]", default, params.dayfirst) for i, text in enumerate(params.dates)]
    aware = {m.tzinfo is not None for m in moments}
    if len(aware) > 1:
        raise InvalidInput("dates: dates with a UTC offset and dates without one cannot be ordered together")
    ctx.log.info(f"read {len(moments)} dates")
    earliest, latest = min(moments), max(moments)
    delta = relativedelta(latest, earliest)
    return Dates(
        dates=[Parsed(input=text, iso=iso(m), date=m.date().isoformat(), weekday=WEEKDAYS[m.weekday()])
               for text, m in zip(params.dates, moments)],
        earliest=iso(earliest),
        latest=iso(latest),
        span=Span(days=(latest - earliest).days, text=in_words(delta)),
    )
