"""The read-only status page (`[status_page]`, docs/status-page.md): one server-rendered
HTML page served by `oneshop run`, and a page per SKU with its history.

- `access` who may look (loopback, or HTTP basic auth), also used by `config check`;
- `sections` what the page shows, one function per section, from the views the CLI's
  `status` and `history` already use;
- `html` the markup (everything a seller typed is escaped there);
- `server` the WSGI app and its start/stop beside the webhook receiver and metrics.
"""
