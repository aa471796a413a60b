#!/usr/bin/env python3
"""Reads stream `event` values, one JSON text per line, and checks each the
way the Python TradPal services read them: json.loads, all six keys,
a known event_type, a canonical UUID, a timestamp datetime.fromisoformat
accepts, and data/metadata objects. Prints the number of events checked;
exits 1 with the first problem otherwise. Standard library only."""
import datetime
import json
import re
import sys

TYPES = {
    "market_data_update", "trading_signal", "order_executed", "portfolio_update",
    "risk_alert", "system_health", "ml_model_update", "backtest_complete",
    "alternative_data_update", "sentiment_data_update", "onchain_data_update",
    "economic_data_update", "market_regime_change", "rl_model_update",
    "rl_action_taken", "feature_vector_update",
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check(line_no, text):
    event = json.loads(text)
    if not isinstance(event, dict):
        return "not an object"
    for key in ("event_type", "event_id", "timestamp", "source", "data", "metadata"):
        if key not in event:
            return "missing key " + key
    if event["event_type"] not in TYPES:
        return "unknown event_type " + repr(event["event_type"])
    if not UUID.match(event["event_id"]):
        return "bad event_id " + repr(event["event_id"])
    stamp = datetime.datetime.fromisoformat(event["timestamp"])
    if stamp.tzinfo is not None:
        return "timestamp is not naive UTC"
    if not isinstance(event["source"], str):
        return "source is not a string"
    if not isinstance(event["data"], dict) or not isinstance(event["metadata"], dict):
        return "data or metadata is not an object"
    return None


def main():
    count = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            try:
                problem = check(line_no, line)
            except Exception as e:  # any failure to read is a contract breach
                problem = "%s: %s" % (type(e).__name__, e)
            if problem:
                print("line %d: %s" % (line_no, problem))
                return 1
            count += 1
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
