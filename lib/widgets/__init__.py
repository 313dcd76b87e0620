"""Declarative widgets: JSON definition -> validated model -> pandas transform -> `WidgetView`.

No Streamlit here: `lib/render/widgets/` draws a `WidgetView`.
"""

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
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.loader import (
    LoadedWidget,
    Problem,
    WidgetDefinitionError,
    load_widget_file,
    load_widget_folder,
    parse_widget_data,
    parse_widget_text,
)
from lib.widgets.problems import ViewProblem
from lib.widgets.rows import Cell, RowsView, RowView, rows_view
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
from lib.widgets.view import RowAction, WidgetView, build_widget_view

__all__ = [
    "ActiveFilter",
    "Cell",
    "Condition",
    "ConditionSyntaxError",
    "DataSourceSpec",
    "DisplaySpec",
    "FieldSpec",
    "InteractionInputs",
    "LoadedWidget",
    "Problem",
    "RowAction",
    "RowView",
    "RowsView",
    "StatSpec",
    "StatValue",
    "SubscriptionSpec",
    "TransformSpec",
    "ViewProblem",
    "WidgetDefinition",
    "WidgetDefinitionError",
    "WidgetView",
    "apply_transform",
    "badge_colors",
    "build_widget_view",
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
    "rows_view",
    "style_color",
]
