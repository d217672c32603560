"""moto's server in a process of its own (a second core for the local stack), with the fidelity
patches applied. `python -m local_stack.moto_process PORT`; prints "ready" once it listens."""

from __future__ import annotations

import logging
import signal
import sys

from local_stack import moto_fidelity


def main() -> None:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    port = int(sys.argv[1])
    # Ctrl-C reaches the whole process group: the parent stops us (closes our stdin) once it is done
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_fidelity.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the parent closes our stdin (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
