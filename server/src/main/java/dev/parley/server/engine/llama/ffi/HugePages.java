package dev.parley.server.engine.llama.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a model's weights on transparent huge pages (Linux), where llama.cpp would leave them on 4 KiB ones.
 *
 * <p>A model read into memory (not mapped, see {@code ModelOptions}) lives in buffers llama.cpp allocates with
 * {@code posix_memalign}: ordinary anonymous memory, which the usual THP setting ({@code madvise}) leaves on
 * small pages. A decode reads every weight once, so one token walks the page tables tens of thousands of times
 * (42,000 pages for the 135M-shape Q8_0 model), and in a virtual machine each walk is two-dimensional. The same
 * buffers advised {@code MADV_HUGEPAGE}: one sequence, 1 thread, llama.cpp v0.5.0 in a C loop on a 2-core EPYC
 * VM, 94–99 tok/s → 118–122 (the mapped file, llama-server's default, 111–116: its page cache is only partly on
 * huge pages).
 *
 * <p>The advice must come before the pages are first written, or they stay small until the kernel's background
 * scan finds them (an explicit {@code MADV_COLLAPSE} copies them, which took longer than the load itself).
 * llama.cpp allocates every weight buffer and only then reads the first tensor, calling the load's progress
 * callback before each one: {@link #progressCallback} is that callback, and on its first call advises every
 * private anonymous mapping that appeared since {@link #watch} (those buffers), trimmed to whole huge pages. It
 * never stops a load, and it does nothing where the system has no THP, no {@code /proc/self/maps}, or it is
 * disabled; then the load is as before.
 *
 * <p>A buffer larger than glibc's largest mmap threshold (32 MiB on 64-bit) is always a mapping of its own: every
 * model worth the trouble. A smaller one may be carved from memory malloc already held (glibc raises the threshold
 * as large blocks are freed), and then it stays on small pages.
 *
 * <p>The watch is per thread: llama.cpp calls the callback on the thread that loads the model. Mappings another
 * thread made in between (another model's buffers, a thread's stack) may be advised too; that only lets their
 * later pages be huge.
 */
@SuppressWarnings("restricted") // madvise on memory llama.cpp allocated: the native boundary's business
public final class HugePages {
    private static final Logger log = LoggerFactory.getLogger(HugePages.class);
    private static final int MADV_HUGEPAGE = 14; // asm-generic/mman-common.h: x86-64 and arm64 alike
    private static final Path MAPS = Path.of("/proc/self/maps");
    private static final Path THP = Path.of("/sys/kernel/mm/transparent_hugepage");

    /** The huge page size where advice can help; empty where it cannot (not Linux, THP absent or off). */
    private static final Optional<Long> SIZE = hugePageSize();

    private static final ThreadLocal<Watch> WATCHES = new ThreadLocal<>();

    private HugePages() {}

    /** One load's watch: the mappings before it, and what its first progress call advised. */
    public static final class Watch implements AutoCloseable {
        private final List<Range> before;
        private long advised;
        private boolean done;

        private Watch(List<Range> before) {
            this.before = before;
        }

        /** Bytes advised onto huge pages by the load's first progress call (0 before it, or when none was made). */
        public long advised() {
            return advised;
        }

        /** Ends the watch on this thread. */
        @Override
        public void close() {
            if (WATCHES.get() == this) WATCHES.remove();
        }
    }

    /** An address range {@code [start, end)}. */
    record Range(long start, long end) {
        long size() {
            return end - start;
        }
    }

    /**
     * Starts watching for the buffers a model load on this thread is about to allocate; empty where huge pages
     * cannot be advised, and then the load needs no {@link #progressCallback}.
     */
    public static Optional<Watch> watch() {
        if (SIZE.isEmpty() || !Callback.READY) return Optional.empty();
        Optional<List<Range>> before = mappings(false);
        if (before.isEmpty()) return Optional.empty();
        Watch watch = new Watch(before.get());
        WATCHES.set(watch);
        return Optional.of(watch);
    }

    /** The {@code llama_progress_callback} to set in a load's model params while a {@link #watch} is open. */
    public static MemorySegment progressCallback() {
        return Callback.STUB;
    }

    /** The upcall target: advises once per watch, always lets the load go on, and lets nothing escape. */
    static boolean progress(float progress, MemorySegment userData) {
        try {
            Watch watch = WATCHES.get();
            if (watch == null || watch.done) return true;
            watch.done = true;
            Optional<List<Range>> after = mappings(true);
            if (after.isPresent()) watch.advised = advise(added(watch.before, after.get(), SIZE.orElseThrow()));
        } catch (Throwable e) {
            log.debug("could not advise a model's buffers onto huge pages", e);
        }
        return true;
    }

    /**
     * The parts of {@code after} that no range of {@code before} covered, each trimmed inward to whole pages of
     * {@code page} bytes; those shorter than a page are left out.
     */
    static List<Range> added(List<Range> before, List<Range> after, long page) {
        List<Range> sorted = new ArrayList<>(before);
        sorted.sort(Comparator.comparingLong(Range::start));
        List<Range> added = new ArrayList<>();
        for (Range range : after) {
            long from = range.start();
            for (Range old : sorted) {
                if (old.end() <= from) continue;
                if (old.start() >= range.end()) break;
                if (old.start() > from) trimmed(from, old.start(), page, added);
                from = Math.max(from, old.end());
                if (from >= range.end()) break;
            }
            if (from < range.end()) trimmed(from, range.end(), page, added);
        }
        return added;
    }

    private static void trimmed(long start, long end, long page, List<Range> into) {
        long first = Math.ceilDiv(start, page) * page;
        long last = Math.floorDiv(end, page) * page;
        if (last > first) into.add(new Range(first, last));
    }

    /** Advises each range; the bytes the kernel accepted advice for. */
    private static long advise(List<Range> ranges) throws Throwable {
        long advised = 0;
        for (Range range : ranges) {
            MemorySegment start = MemorySegment.ofAddress(range.start());
            int result = (int) Callback.MADVISE.invokeExact(start, range.size(), MADV_HUGEPAGE);
            if (result == 0) advised += range.size();
        }
        return advised;
    }

    /**
     * The process's mappings from {@code /proc/self/maps}: all of them, or (with {@code anonymousWritable}) only
     * private anonymous read-write ones, where heap buffers live.
     */
    private static Optional<List<Range>> mappings(boolean anonymousWritable) {
        List<String> lines;
        try {
            lines = Files.readAllLines(MAPS);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        List<Range> ranges = new ArrayList<>(lines.size());
        for (String line : lines) {
            Optional<Range> range = parse(line, anonymousWritable);
            range.ifPresent(ranges::add);
        }
        return Optional.of(ranges);
    }

    /** One line of {@code /proc/self/maps}: {@code start-end perms offset dev inode [path]}. */
    static Optional<Range> parse(String line, boolean anonymousWritable) {
        String[] fields = line.trim().split("\\s+", 6);
        if (fields.length < 5) return Optional.empty();
        int dash = fields[0].indexOf('-');
        if (dash < 0) return Optional.empty();
        try {
            Range range = new Range(
                    Long.parseUnsignedLong(fields[0], 0, dash, 16),
                    Long.parseUnsignedLong(fields[0], dash + 1, fields[0].length(), 16));
            if (anonymousWritable) {
                boolean anonymous = fields[4].equals("0") && (fields.length == 5 || fields[5].isBlank());
                if (!anonymous || !fields[1].startsWith("rw") || fields[1].charAt(3) != 'p') return Optional.empty();
            }
            return Optional.of(range);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The PMD huge page size on Linux x86-64 or arm64 when THP is not off ({@code enabled} is {@code always} or
     * {@code madvise}).
     */
    private static Optional<Long> hugePageSize() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !List.of("amd64", "x86_64", "aarch64").contains(arch)) return Optional.empty();
        try {
            String enabled = Files.readString(THP.resolve("enabled"));
            if (enabled.contains("[never]")) return Optional.empty();
            long size = Long.parseLong(
                    Files.readString(THP.resolve("hpage_pmd_size")).trim());
            return size > 0 && Long.bitCount(size) == 1 ? Optional.of(size) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The upcall stub and libc's {@code madvise}, made on first use (only where {@link #hugePageSize} found THP);
     * {@code READY} is false, and both are null, when either could not be made.
     */
    private static final class Callback {
        static final MethodHandle MADVISE;
        static final MemorySegment STUB;
        static final boolean READY;

        static {
            MethodHandle madvise = null;
            MemorySegment stub = null;
            try {
                madvise = NativeLibrary.linker()
                        .downcallHandle(
                                NativeLibrary.linker()
                                        .defaultLookup()
                                        .find("madvise")
                                        .orElseThrow(),
                                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
                MethodHandle target = MethodHandles.lookup()
                        .findStatic(
                                HugePages.class,
                                "progress",
                                MethodType.methodType(boolean.class, float.class, MemorySegment.class));
                stub = NativeLibrary.linker()
                        .upcallStub(target, FunctionDescriptor.of(JAVA_BOOLEAN, JAVA_FLOAT, ADDRESS), Arena.global());
            } catch (ReflectiveOperationException | RuntimeException e) {
                log.debug("no huge-page advice for model weights: madvise or the load callback is unavailable", e);
                madvise = null;
                stub = null;
            }
            MADVISE = madvise;
            STUB = stub;
            READY = stub != null;
        }
    }
}
