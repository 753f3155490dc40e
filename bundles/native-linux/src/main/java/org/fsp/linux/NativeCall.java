package org.fsp.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Binds libc functions and reads the errno they leave behind.
 *
 * <p>Every binding captures errno through {@link Linker.Option#captureCallState}: the JVM may run code between a
 * native call and a later read of errno, so errno must be saved by the call itself. A typical sequence is:
 * {@code MethodHandle h = NativeCall.bind("close", INT, INT)}, then {@code int r = (int) h.invokeExact(errnoSeg, fd)}
 * with {@code errnoSeg} from {@link #errnoSegment()}, then {@link #check} to turn {@code -1} into a
 * {@link NativeException}.
 */
public final class NativeCall {

    /** The platform's libc linker. */
    public static final Linker LINKER = Linker.nativeLinker();

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** One errno slot per thread, so that concurrent callers never see each other's errno. */
    private static final ThreadLocal<MemorySegment> ERRNO_SLOT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private NativeCall() {}

    /** Binds a libc function whose first invocation argument is the errno capture segment. */
    public static MethodHandle bind(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup()
                .find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO);
    }

    /**
     * Binds a variadic libc function (such as {@code syscall}) whose first invocation argument is the errno capture
     * segment; {@code firstVariadicIndex} is the index of the first variadic parameter in {@code descriptor}.
     */
    public static MethodHandle bindVariadic(String name, FunctionDescriptor descriptor, int firstVariadicIndex) {
        MemorySegment symbol = LINKER.defaultLookup()
                .find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(
                symbol, descriptor, Linker.Option.firstVariadicArg(firstVariadicIndex), CAPTURE_ERRNO);
    }

    /** Binds a libc function that cannot fail and does not touch errno (no capture segment argument). */
    public static MethodHandle bindNoErrno(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup()
                .find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** This thread's errno capture segment, to pass as the first argument of a handle made by {@link #bind}. */
    public static MemorySegment errnoSegment() {
        return ERRNO_SLOT.get();
    }

    /** The errno captured by the last call this thread made through {@link #errnoSegment()}. */
    public static int lastErrno() {
        return (int) ERRNO.get(ERRNO_SLOT.get(), 0L);
    }

    /** Returns {@code result} unless it is -1, in which case throws with the captured errno. */
    public static int check(int result, String call) {
        if (result == -1) {
            throw new NativeException(call, lastErrno());
        }
        return result;
    }

    /** Returns {@code result} unless it is -1, in which case throws with the captured errno. */
    public static long check(long result, String call) {
        if (result == -1L) {
            throw new NativeException(call, lastErrno());
        }
        return result;
    }

    /** Layout shorthands for descriptors. */
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    public static final java.lang.foreign.AddressLayout POINTER = ValueLayout.ADDRESS;
}
