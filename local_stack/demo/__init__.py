"""The demo market (`DEMO=1 make run`): simulated traders that use only the public REST API and the
WebSocket, with accounts of their own. settings.py reads DEMO_*, strategies.py decides (pure),
client.py and feed.py talk to the stack, market.py runs the traders' threads."""
