"""The terminal dashboard (textual): server status, balances, agents, spend, usage, transactions.

Textual runs on asyncio, so this face is the one part of the gateway that is not on trio; it
shares nothing with the server but HTTP. It fits 80×24: one status line, four tabs, a footer.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from gateway.dashboard._reader import GatewayReader, Snapshot
from gateway.dashboard._views import (
    AGENT_COLUMNS,
    TX_COLUMNS,
    USAGE_COLUMNS,
    WALLET_COLUMNS,
    Row,
    agent_rows,
    money_text,
    spend_lines,
    status_text,
    tx_rows,
    usage_detail,
    usage_rows,
    wallet_rows,
)

__all__ = ["DashboardApp"]

HELP = """\
BitRouter dashboard — keys

  1  Overview       balance, wallets, agents
  2  Spend          spend by model
  3  Usage          latest requests (↑/↓: details of one)
  4  Transactions   on-chain settlements
  r  Refresh now (it also refreshes by itself)
  ?  This help (F1 too; Esc closes it)
  q  Quit (the server keeps running; `bitrouter stop` stops it)
"""


class HelpScreen(ModalScreen[None]):
    """The keys of the dashboard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")


class DashboardApp(App[None]):
    """The dashboard of one gateway, refreshed every ``interval`` seconds."""

    TITLE = "BitRouter"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #status { dock: top; height: 1; background: $panel; padding: 0 1; }
    TabbedContent { height: 1fr; }
    ContentSwitcher { height: 1fr; }
    TabPane { height: 1fr; padding: 0; }
    #money { height: auto; padding: 0 1; }
    .label { height: 1; padding: 0 1; text-style: bold; }
    DataTable { height: auto; max-height: 16; }
    #wallets, #agents { max-height: 6; }
    #chart { padding: 0 1; }
    #usage-table { height: 1fr; max-height: 100%; }
    #usage-detail { height: 1; padding: 0 1; background: $panel; }
    HelpScreen { align: center middle; }
    #help { width: 70; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", "Help", show=False),
        Binding("r", "refresh_now", "Refresh"),
        Binding("1", "tab('overview')", "Overview", show=False),
        Binding("2", "tab('spend')", "Spend", show=False),
        Binding("3", "tab('usage')", "Usage", show=False),
        Binding("4", "tab('transactions')", "Transactions", show=False),
    ]

    def __init__(self, reader: GatewayReader, interval: float = 3.0) -> None:
        super().__init__()
        self.reader = reader
        self.interval = interval
        self.snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"○ connecting to {self.reader.url} …", id="status")
        with TabbedContent(initial="overview"):
            with TabPane("1 Overview", id="overview"), VerticalScroll():
                yield Static("", id="money")
                yield Static("Wallets", classes="label")
                yield DataTable(id="wallets", cursor_type="none", zebra_stripes=True)
                yield Static("Agents", classes="label")
                yield DataTable(id="agents", cursor_type="none", zebra_stripes=True)
            with TabPane("2 Spend", id="spend"), VerticalScroll():
                yield Static("", id="chart")
            with TabPane("3 Usage", id="usage"):
                yield DataTable(id="usage-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="usage-detail")
            with TabPane("4 Transactions", id="transactions"):
                yield DataTable(id="tx-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        """Set up the tables and start refreshing."""
        for table_id, columns in (
            ("#wallets", WALLET_COLUMNS),
            ("#agents", AGENT_COLUMNS),
            ("#usage-table", USAGE_COLUMNS),
            ("#tx-table", TX_COLUMNS),
        ):
            self.query_one(table_id, DataTable).add_columns(*columns)
        self.set_interval(self.interval, self.action_refresh_now)
        self.action_refresh_now()

    @work(exclusive=True, group="refresh")
    async def action_refresh_now(self) -> None:
        """Read the gateway and redraw every panel."""
        self.show(await self.reader.snapshot())

    def action_help(self) -> None:
        """Show the keys."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_tab(self, tab: str) -> None:
        """Switch to a tab."""
        self.query_one(TabbedContent).active = tab

    def show(self, snapshot: Snapshot) -> None:
        """Redraw every panel from ``snapshot``."""
        self.snapshot = snapshot
        self.query_one("#status", Static).update(status_text(snapshot))
        self.query_one("#money", Static).update(money_text(snapshot.balance, snapshot.errors))
        self._fill("#wallets", wallet_rows(snapshot.balance), "no wallet yet")
        self._fill("#agents", agent_rows(snapshot.balance), "no agent authority yet")
        width = max(40, self.size.width - 4)
        lines = spend_lines(snapshot.summary, width, snapshot.errors)
        self.query_one("#chart", Static).update("Spend by model\n\n" + "\n".join(lines))
        self._fill("#usage-table", usage_rows(snapshot), snapshot.errors.get("usage", "no usage"))
        self._fill(
            "#tx-table", tx_rows(snapshot), snapshot.errors.get("transactions", "no transactions")
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted request's details under the usage table."""
        if event.data_table.id != "usage-table" or self.snapshot is None:
            return
        records = self.snapshot.usage.data if self.snapshot.usage else []
        record = records[event.cursor_row] if event.cursor_row < len(records) else None
        self.query_one("#usage-detail", Static).update(usage_detail(record))

    def _fill(self, table_id: str, rows: list[Row], empty: str) -> None:
        table = self.query_one(table_id, DataTable)
        row = table.cursor_row  # a refresh keeps the reader's place in the table
        table.clear()
        if rows:
            table.add_rows(rows)
            table.move_cursor(row=min(row, len(rows) - 1), animate=False)
        else:
            table.add_row(empty, *[""] * (len(table.columns) - 1))
