package dev.parley.server.http;

import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;

/** A generation that notes on its exchange when its first answer token arrives; otherwise the same. */
record TimedGeneration(Generation generation, Exchange exchange) implements Generation {

    @Override
    public String model() {
        return generation.model();
    }

    @Override
    public int promptTokens() {
        return generation.promptTokens();
    }

    @Override
    public int completionTokens() {
        return generation.completionTokens();
    }

    @Override
    public int choices() {
        return generation.choices();
    }

    @Override
    public GenerationEvent next() throws InterruptedException {
        GenerationEvent event = generation.next();
        if (event instanceof GenerationEvent.Token || event instanceof GenerationEvent.ToolCallPiece)
            exchange.firstToken();
        return event;
    }

    @Override
    public void close() {
        generation.close();
    }
}
