"""What the stand-ins of tests/openwhisk, tests/openfaas, tests/azure and
tests/gcf share about running as a process of their own, on both sides.

In the stand-in (a script: it puts tests/support on sys.path itself):

    standin_process.serve(server, workdir, args.watch_stdin, stop=standin.stop)

prints the server's port as the first line of stdout, serves until it is
killed or, with --watch-stdin, until its stdin closes (so it never outlives
its test), and then calls STOP, if any (the stand-in's replicas,
containers or instances), and removes WORKDIR.

In a test's fixture:

    process, port = standin_process.start([python, script, "--config", path, ...])
    standin_process.stop(process)

starts the script with --watch-stdin and reads that port; stop closes the
stand-in's stdin, waits up to 10 s for it to clean up, and kills it if it
lingers.
"""
import os
import shutil
import subprocess
import sys
import threading


def serve(server, workdir, watch_stdin, stop=None):
    def finish():
        if stop is not None:
            stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(server.server_address[1], flush=True)
    if watch_stdin:
        def watch():
            sys.stdin.read()
            finish()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever()
    finally:
        finish()


def start(command):
    process = subprocess.Popen([*command, "--watch-stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return process, int(process.stdout.readline())


def stop(process):
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
