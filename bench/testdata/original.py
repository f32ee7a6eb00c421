#!/usr/bin/python3
"""The original design's subscriber, as a user would write it with paho-mqtt
1.x (Debian's python3-paho-mqtt): subscribe to SHUTDOWN, save the message,
run the power command. Used only as the comparison point in the benchmarks."""
import os
import subprocess
import sys

import paho.mqtt.client as mqtt

host, port, name, save, *power = sys.argv[1:]
# ORIGINAL_FSYNC=1 makes the saved message durable before the power command
# runs, the same durability as the agent's journal (for a fair comparison).
durable = os.environ.get("ORIGINAL_FSYNC") == "1"


def on_connect(client, userdata, flags, rc):
    client.subscribe("SHUTDOWN", qos=1)


def on_subscribe(client, userdata, mid, granted_qos):
    print("subscribed", file=sys.stderr, flush=True)


def on_message(client, userdata, msg):
    with open(save, "ab") as f:
        f.write(msg.payload + b"\n")
        if durable:
            f.flush()
            os.fsync(f.fileno())
    subprocess.run(power)


client = mqtt.Client(client_id="original-" + name, clean_session=False)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect(host, int(port), keepalive=60)
client.loop_forever()
