package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.parley.server.engine.llama.ffi.Bindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Chat prompts through {@code llama_chat_apply_template}; arguments arrive checked from {@link LlamaModel}. */
final class ChatTemplates {
    private static final Logger LOG = LoggerFactory.getLogger(ChatTemplates.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    /** llama.cpp's name for ChatML, which it also uses when given no template at all. */
    static final String CHATML = "chatml";

    private ChatTemplates() {}

    static String apply(String template, List<ChatTurn> messages, boolean addAssistant) {
        if (template != null) {
            String prompt = render(template, messages, addAssistant);
            if (prompt != null) {
                return prompt;
            }
            if (!WARNED.getAndSet(true)) {
                LOG.warn("llama.cpp does not recognise the model's chat template; using ChatML instead");
            }
        }
        String prompt = render(CHATML, messages, addAssistant);
        if (prompt == null) {
            throw new LlamaException("llama.cpp does not know the ChatML template");
        }
        return prompt;
    }

    /** The rendered prompt, or null when llama.cpp does not recognise the template. */
    private static String render(String template, List<ChatTurn> messages, boolean addAssistant) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chat = arena.allocate(Structs.CHAT_MESSAGE, Math.max(1, messages.size()));
            long roleOffset = Structs.offset(Structs.CHAT_MESSAGE, "role");
            long contentOffset = Structs.offset(Structs.CHAT_MESSAGE, "content");
            long size = 0;
            for (int i = 0; i < messages.size(); i++) {
                MemorySegment message = chat.asSlice(i * Structs.CHAT_MESSAGE.byteSize(), Structs.CHAT_MESSAGE);
                ChatTurn turn = messages.get(i);
                MemorySegment role = arena.allocateFrom(turn.role());
                MemorySegment content = arena.allocateFrom(turn.content());
                message.set(ADDRESS, roleOffset, role);
                message.set(ADDRESS, contentOffset, content);
                size += role.byteSize() + content.byteSize();
            }
            MemorySegment name = arena.allocateFrom(template);
            // Templates add a few dozen bytes per message; retry once with the exact size otherwise.
            int capacity = (int) Math.min(Integer.MAX_VALUE, 2 * size + 256);
            MemorySegment buf = arena.allocate(capacity);
            int length = Bindings.chatApplyTemplate(name, chat, messages.size(), addAssistant, buf, capacity);
            if (length < 0) {
                return null;
            }
            if (length > capacity) {
                capacity = length + 1;
                buf = arena.allocate(capacity);
                length = Bindings.chatApplyTemplate(name, chat, messages.size(), addAssistant, buf, capacity);
            }
            return new String(buf.asSlice(0, length).toArray(JAVA_BYTE), UTF_8);
        }
    }
}
