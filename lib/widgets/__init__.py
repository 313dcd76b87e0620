"""Declarative widgets: JSON definition -> validated model -> pandas transform -> display text."""

from lib.widgets.colors import style_color
from lib.widgets.conditions import Condition, ConditionSyntaxError, parse_condition
from lib.widgets.formatting import (
    StatValue,
    badge_colors,
    compute_stat,
    format_datetime,
    format_datetime_series,
    format_relative_time,
    format_relative_time_series,
    format_rows,
    format_short_date,
    format_short_date_series,
)
from lib.widgets.loader import (
    LoadedWidget,
    Problem,
    WidgetDefinitionError,
    load_widget_file,
    load_widget_folder,
    parse_widget_data,
    parse_widget_text,
)
from lib.widgets.schema import (
    DataSourceSpec,
    DisplaySpec,
    FieldSpec,
    StatSpec,
    SubscriptionSpec,
    TransformSpec,
    WidgetDefinition,
)
from lib.widgets.time_tokens import resolve_time_tokens
from lib.widgets.transform import apply_transform

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "DataSourceSpec",
    "DisplaySpec",
    "FieldSpec",
    "LoadedWidget",
    "Problem",
    "StatSpec",
    "StatValue",
    "SubscriptionSpec",
    "TransformSpec",
    "WidgetDefinition",
    "WidgetDefinitionError",
    "apply_transform",
    "badge_colors",
    "compute_stat",
    "format_datetime",
    "format_datetime_series",
    "format_relative_time",
    "format_relative_time_series",
    "format_rows",
    "format_short_date",
    "format_short_date_series",
    "load_widget_file",
    "load_widget_folder",
    "parse_condition",
    "parse_widget_data",
    "parse_widget_text",
    "resolve_time_tokens",
    "style_color",
]
