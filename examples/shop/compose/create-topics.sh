#!/bin/sh
# create-topics.sh — run once by the kafka-init service (apache/kafka image).
#
# Creates the Kafka signal topics of the Debezium connectors. Debezium's Kafka
# signal channel reads a topic with exactly one partition; a record whose key is
# the connector's topic.prefix ("shop", "shopmongo") and whose value is
#   {"type":"execute-snapshot","data":{"data-collections":["public.orders"],"type":"incremental"}}
# starts an incremental snapshot. Idempotent: existing topics are left alone.
set -eu

BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-kafka:9092}
SIGNAL_TOPICS=${SIGNAL_TOPICS:-shop.signals shopmongo.signals}
KAFKA_BIN=${KAFKA_BIN:-/opt/kafka/bin}

for topic in $SIGNAL_TOPICS; do
	"$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVERS" \
		--create --if-not-exists --topic "$topic" \
		--partitions 1 --replication-factor 1
done
echo "signal topics ready: $SIGNAL_TOPICS"
