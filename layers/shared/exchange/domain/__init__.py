"""Pure domain: money rules, orders, the matching engine. No I/O, integers only."""
