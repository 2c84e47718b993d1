package dev.parley.server.usage;

import java.time.LocalDate;

/** What one key used of one model on one UTC day. */
public record UsageRow(LocalDate day, String key, String model, Counts counts) {}
