-- The shop service's own database, captured by Debezium (connector
-- connectors/shop-postgres.json, topics shop.public.<table>).
-- Run once by the postgres image on an empty data directory
-- (/docker-entrypoint-initdb.d). Users live in MongoDB (mongo-init.js);
-- orders refer to them by the hex string of their ObjectId.

CREATE TABLE public.products (
    id         int8 PRIMARY KEY,
    name       text,
    price      numeric(10,2),
    category   text,
    updated_at timestamptz
);

CREATE TABLE public.orders (
    id           int8 PRIMARY KEY,
    user_id      text, -- a user's ObjectId hex (shop.users._id in MongoDB)
    status       text,
    total_amount numeric(10,2),
    created_at   timestamp
);

CREATE TABLE public.order_items (
    id         int8 PRIMARY KEY,
    order_id   int8,
    product_id int8,
    quantity   int4,
    unit_price numeric(10,2)
);

COMMENT ON COLUMN public.orders.user_id IS 'hex string of the user''s ObjectId (MongoDB shop.users._id)';

-- REPLICA IDENTITY FULL on the two tables whose foreign keys can move: the
-- whole old row goes into the WAL, so Debezium's update and delete events
-- carry it in "before". With the default identity an update has no "before"
-- and a delete only the primary key (the other columns arrive as zero values).
-- When order_items.order_id or orders.user_id changes, or the row is deleted,
-- projector must recompute the old parent as well, so that the child
-- disappears from it: "before" names that old parent even when projector's
-- state has not seen the row (for example a state rebuilt from a later offset).
-- products has no foreign key and keeps the default identity.
ALTER TABLE public.orders REPLICA IDENTITY FULL;
ALTER TABLE public.order_items REPLICA IDENTITY FULL;

-- Debezium's signaling table (signal.data.collection = public.debezium_signal).
-- Incremental snapshots write their open/close watermarks here, also when the
-- snapshot was requested through the Kafka signal topic shop-signal.
CREATE TABLE public.debezium_signal (
    id   varchar(64) PRIMARY KEY,
    type varchar(32) NOT NULL,
    data varchar(2048)
);

-- Sample rows. Each order's total_amount is the sum of its items.
INSERT INTO public.products (id, name, price, category, updated_at) VALUES
    (1, 'Espresso machine',       249.00, 'kitchen',   '2025-05-01 08:00:00+00'),
    (2, 'Coffee grinder',          89.90, 'kitchen',   '2025-05-01 08:00:00+00'),
    (3, 'Pour-over kettle',        39.50, 'kitchen',   '2025-05-02 10:30:00+00'),
    (4, 'Bean sampler, 6 x 250 g', 32.00, 'coffee',    '2025-05-03 14:15:00+00'),
    (5, 'Ceramic mug',             12.00, 'tableware', '2025-05-03 14:15:00+00');

INSERT INTO public.orders (id, user_id, status, total_amount, created_at) VALUES
    (1001, '665f1a2b3c4d5e6f70000001', 'paid',      338.90, '2025-05-04 09:12:00'),
    (1002, '665f1a2b3c4d5e6f70000002', 'shipped',    71.50, '2025-05-04 11:40:00'),
    (1003, '665f1a2b3c4d5e6f70000001', 'pending',    24.00, '2025-05-05 18:05:00'),
    (1004, '665f1a2b3c4d5e6f70000003', 'cancelled',  89.90, '2025-05-06 07:30:00');

INSERT INTO public.order_items (id, order_id, product_id, quantity, unit_price) VALUES
    (1, 1001, 1, 1, 249.00),
    (2, 1001, 2, 1,  89.90),
    (3, 1002, 3, 1,  39.50),
    (4, 1002, 4, 1,  32.00),
    (5, 1003, 5, 2,  12.00),
    (6, 1004, 2, 1,  89.90);
