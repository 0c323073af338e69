"""Queue and job health: Huey signal recording, counters, consumer heartbeats, health JSON,
the queue dashboard and failed-job operations."""
