/**
 * The raw native boundary of the llama engine: finding, fetching, verifying and opening llama.cpp's
 * libraries ({@link dev.parley.server.engine.llama.ffi.NativeLibrary},
 * {@link dev.parley.server.engine.llama.ffi.PrebuiltLibrary}), one downcall per C function
 * ({@link dev.parley.server.engine.llama.ffi.Bindings}, {@link dev.parley.server.engine.llama.ffi.SamplerBindings}),
 * the C structs' layouts ({@link dev.parley.server.engine.llama.ffi.Structs}) and the log callback
 * ({@link dev.parley.server.engine.llama.ffi.LlamaLog}).
 *
 * <p>Nothing here checks its arguments: only {@code dev.parley.server.engine.llama} calls into this package,
 * after checking everything in Java (a test holds that line). All parameters and return values are non-null
 * unless documented otherwise.
 */
package dev.parley.server.engine.llama.ffi;
