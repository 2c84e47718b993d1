package dev.parley.server.engine.llama.ffi;

/**
 * A device ggml found in the loaded backends.
 *
 * @param name ggml's short name, e.g. {@code CPU}, {@code CUDA0}, {@code Vulkan0}
 * @param description what the backend says of it, e.g. the processor or GPU model
 * @param type {@code cpu}, {@code gpu}, {@code igpu}, {@code accel} or {@code meta}
 * @param memoryTotal bytes the device reports (0 when it reports none)
 */
public record BackendDevice(String name, String description, String type, long memoryTotal) {
    /** Whether model layers can be offloaded to it. */
    public boolean offloads() {
        return type.equals("gpu") || type.equals("igpu");
    }

    @Override
    public String toString() {
        return name + " (" + description + ")";
    }
}
