"""Runs localstack.runtime.main, exiting when the Node process that started it dies.

LocalStack has no parent-death signal of its own; without this, a test runner killed
with SIGKILL would leave a LocalStack process behind holding ~550 MB and a port.
"""
import os
import runpy
import sys
import threading
import time

parent = os.getppid()


def watch_parent() -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


threading.Thread(target=watch_parent, name="ekm-parent-watch", daemon=True).start()
module = sys.argv[1] if len(sys.argv) > 1 else "localstack.runtime.main"
sys.argv = [module]
runpy.run_module(module, run_name="__main__", alter_sys=True)
