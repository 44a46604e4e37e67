#!/bin/sh
# create-topics.sh — run once by the kafka-init service (apache/kafka image).
#
# Creates the Kafka signal and notification topics of the Debezium connectors.
# Debezium's Kafka signal channel reads a topic with exactly one partition
# (named <topic.prefix>-signal, its default); a record whose key is the
# connector's topic.prefix ("shop", "shopmongo") and whose value is
#   {"id":"…","type":"execute-snapshot","data":{"data-collections":["public.orders"],"type":"incremental"}}
# starts an incremental snapshot, whose progress the connector reports on its
# notification topic (`projector rebuild --from signal` sends the one and
# waits on the other). Idempotent: existing topics are left alone.
set -eu

BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-kafka:9092}
SIGNAL_TOPICS=${SIGNAL_TOPICS:-shop-signal shopmongo-signal shop.notifications shopmongo.notifications}
KAFKA_BIN=${KAFKA_BIN:-/opt/kafka/bin}

for topic in $SIGNAL_TOPICS; do
	"$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" \
		--create --if-not-exists --topic "$topic" \
		--partitions 1 --replication-factor 1
done
echo "signal and notification topics ready: $SIGNAL_TOPICS"
