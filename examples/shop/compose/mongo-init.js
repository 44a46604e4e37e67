// The users service's database, captured by Debezium (connector
// connectors/shop-mongodb.json, topic shopmongo.shop.users).
// Run by the mongo-seed service with mongosh once the replica set rs0 has a
// primary. It seeds only an empty collection, so running it again changes
// nothing. The _id values are the user_id strings of the orders in
// source-postgres.sql; the fourth user has no orders.

const shop = db.getSiblingDB("shop");

// Debezium's signaling collection (signal.data.collection = shop.debezium_signal):
// incremental snapshots write their watermarks here.
if (!shop.getCollectionNames().includes("debezium_signal")) {
  shop.createCollection("debezium_signal");
}

if (shop.users.countDocuments({}) === 0) {
  shop.users.insertMany([
    { _id: ObjectId("665f1a2b3c4d5e6f70000001"), name: "Ada Lovelace", email: "ada@example.com", status: "active" },
    { _id: ObjectId("665f1a2b3c4d5e6f70000002"), name: "Grace Hopper", email: "grace@example.com", status: "active" },
    { _id: ObjectId("665f1a2b3c4d5e6f70000003"), name: "Alan Turing", email: "alan@example.com", status: "suspended" },
    { _id: ObjectId("665f1a2b3c4d5e6f70000004"), name: "Edsger Dijkstra", email: "edsger@example.com", status: "active" },
  ]);
  print("shop.users: seeded " + shop.users.countDocuments({}) + " users");
} else {
  print("shop.users: already has documents, left alone");
}
