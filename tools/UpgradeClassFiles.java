import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * Rewrites the Java 5 class files of the named packages in a jar as Java 8 class files with stack maps, in
 * place: {@code java UpgradeClassFiles.java JAR PACKAGE/...}. Run by the cli module's build on the runnable jar.
 *
 * <p>Why: the JDK's ahead-of-time class cache (which {@code ./parley} makes beside the jar) cannot hold class
 * files older than version 50, so such classes are read from the jar and checked by the old verifier at every
 * start. picocli is compiled for Java 5 and every command builds its model first; with its classes upgraded
 * they come from the cache, and any command starts about 50 ms sooner on a 2-core machine.
 *
 * <p>Only the version and the stack maps change; the bytecode is the library's own, emitted again by the
 * JDK's ClassFile API. Every rewritten class is then loaded, verified and initialized from the new jar before
 * it replaces the old one, so a class the verifier would refuse fails the build, not a start.
 */
public final class UpgradeClassFiles {
    private static final int JAVA_6 = 50;
    private static final int JAVA_8 = 52;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java UpgradeClassFiles.java JAR PACKAGE/... (e.g. picocli/)");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        List<String> packages = Arrays.asList(args).subList(1, args.length);
        Path upgraded = jar.resolveSibling(jar.getFileName() + ".upgrading");
        List<String> classes = rewrite(jar, upgraded, packages);
        try {
            verify(upgraded, classes);
        } catch (LinkageError e) {
            Files.delete(upgraded);
            throw e;
        }
        Files.move(upgraded, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("UpgradeClassFiles: " + classes.size() + " class files of " + packages + " in "
                + jar.getFileName() + " now version " + JAVA_8);
    }

    /** Copies {@code jar} to {@code target}, rewriting old class files under {@code packages}; returns their names. */
    static List<String> rewrite(Path jar, Path target, List<String> packages) throws IOException {
        List<String> rewritten = new ArrayList<>();
        try (URLClassLoader classes = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null);
                JarFile in = new JarFile(jar.toFile());
                JarOutputStream out = new JarOutputStream(Files.newOutputStream(target))) {
            // Stack maps name the common supertypes of merging branches: found in the jar itself or the JDK.
            ClassHierarchyResolver hierarchy = ClassHierarchyResolver.defaultResolver()
                    .orElse(ClassHierarchyResolver.ofResourceParsing(classes))
                    .cached();
            ClassFile classFile = ClassFile.of(
                    ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(hierarchy));
            // Emitting every method body again is what makes the ClassFile API compute its stack map.
            ClassTransform upgrade = ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL)
                    .andThen((builder, element) -> {
                        if (element instanceof ClassFileVersion) {
                            builder.withVersion(JAVA_8, 0);
                        } else {
                            builder.with(element);
                        }
                    });
            for (JarEntry entry : in.stream().toList()) {
                byte[] bytes = in.getInputStream(entry).readAllBytes();
                String name = entry.getName();
                if (name.endsWith(".class")
                        && packages.stream().anyMatch(name::startsWith)
                        && majorVersion(bytes) < JAVA_6) {
                    bytes = classFile.transformClass(classFile.parse(bytes), upgrade);
                    rewritten.add(name.substring(0, name.length() - ".class".length()).replace('/', '.'));
                }
                JarEntry copy = new JarEntry(name);
                copy.setTime(entry.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
        }
        return rewritten;
    }

    /** Loads, verifies and initializes each class from {@code jar} alone; a refused class throws a LinkageError. */
    static void verify(Path jar, List<String> classes) throws IOException {
        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            for (String name : classes) {
                try {
                    Class.forName(name, true, loader);
                } catch (ClassNotFoundException e) {
                    throw new UncheckedIOException(new IOException("rewritten class " + name + " is missing", e));
                }
            }
        }
    }

    private static int majorVersion(byte[] classFile) {
        return ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }
}
