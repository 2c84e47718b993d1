package dev.parley.api;

/** A tool the model may use ({@code tools[i]}); OpenAI defines one type, {@code function}. */
public record Tool(String type, FunctionDefinition function) {
    public static Tool function(FunctionDefinition function) {
        return new Tool("function", function);
    }
}
