#!/usr/bin/env python3
"""Turns a spreadsheet export of comments (CSV) into masthead-comments
JSON Lines, version 1, for `masthead import comments-json`.

    scripts/csv_to_comments_json.py comments.csv > comments.jsonl

The columns are named in COLUMNS below; change the right-hand names to
those of your export (a Vuukle or other CSV export; a spreadsheet saved as
CSV, UTF-8). Times without a zone are taken in ZONE. See docs/import.md.
"""
import csv
import json
import sys
from datetime import datetime, timedelta, timezone

# The layout's field: the column of your export that holds it.
COLUMNS = {
    "id": "comment_id",
    "parent_id": "parent_id",
    "thread_url": "article_url",
    "thread_identifier": "article_id",
    "thread_title": "article_title",
    "author_id": "user_id",
    "author_name": "user_name",
    "author_email": "user_email",
    "author_verified": "user_verified",
    "created_at": "created_at",
    "html": "comment_html",
    "text": "comment_text",
    "state": "status",
}
# The zone of times written without one (here UTC; +05:30 would be
# timezone(timedelta(hours=5, minutes=30))).
ZONE = timezone.utc
# Your export's states, as the layout's.
STATES = {"approved": "visible", "published": "visible", "pending": "pending",
          "deleted": "deleted", "removed": "deleted", "spam": "spam"}


def cell(row, field):
    name = COLUMNS.get(field)
    value = row.get(name, "") if name else ""
    return value.strip() if value else ""


def when(text):
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            t = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZONE)
        return t.isoformat()
    return text  # left as it is: the importer reports it with its line


def main():
    out = sys.stdout
    out.write(json.dumps({"format": "masthead-comments", "version": 1}) + "\n")
    with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            line = {
                "id": cell(row, "id"),
                "thread_url": cell(row, "thread_url") or None,
                "thread_identifier": cell(row, "thread_identifier") or None,
                "thread_title": cell(row, "thread_title") or None,
                "parent_id": cell(row, "parent_id") or None,
                "author": {
                    "id": cell(row, "author_id") or None,
                    "name": cell(row, "author_name"),
                    "email": cell(row, "author_email") or None,
                    "verified": cell(row, "author_verified").lower() in ("1", "true", "yes"),
                },
                "created_at": when(cell(row, "created_at")),
                "state": STATES.get(cell(row, "state").lower(), "visible"),
            }
            if cell(row, "html"):
                line["html"] = cell(row, "html")
            else:
                line["text"] = cell(row, "text")
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
