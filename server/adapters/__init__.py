"""Cluster adapters: Node's wire protocols on Redis (see each module).

- :mod:`.redis`: ``@socket.io/redis-adapter`` ``createAdapter`` (Redis pub/sub), wire in
  :mod:`.redis_protocol`;
- :mod:`.sharded`: its ``createShardedAdapter`` (Redis 7 sharded pub/sub), on
  :mod:`.cluster` (Node's ``ClusterAdapter``);
- :mod:`.codec`: the values on those wires (msgpack as Node writes it, ``JSON.stringify``).
"""
