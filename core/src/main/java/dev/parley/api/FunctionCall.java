package dev.parley.api;

/**
 * A function the model chose to call: its name and its arguments as a JSON text (which the model may
 * have written badly: parse with care). In a stream delta both fields arrive in pieces and may be null.
 */
public record FunctionCall(String name, String arguments) {}
