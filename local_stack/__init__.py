"""The local stack: the SAM application's handlers against moto's server on loopback, with a local
WebSocket gateway and the event sources driven the way Lambda drives them. No AWS, no Docker."""
