package org.fsp.itests;

import java.io.File;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.netbeans.lib.profiler.heap.ArrayItemValue;
import org.netbeans.lib.profiler.heap.FieldValue;
import org.netbeans.lib.profiler.heap.GCRoot;
import org.netbeans.lib.profiler.heap.Heap;
import org.netbeans.lib.profiler.heap.HeapFactory;
import org.netbeans.lib.profiler.heap.Instance;
import org.netbeans.lib.profiler.heap.JavaClass;
import org.netbeans.lib.profiler.heap.JavaFrameGCRoot;
import org.netbeans.lib.profiler.heap.ObjectArrayInstance;
import org.netbeans.lib.profiler.heap.ObjectFieldValue;
import org.netbeans.lib.profiler.heap.PrimitiveArrayInstance;
import org.netbeans.lib.profiler.heap.ThreadObjectGCRoot;
import org.netbeans.lib.profiler.heap.Value;

/**
 * {@code HeapRetentionWalker DUMP PREFIX}: reads a heap dump with NetBeans' profiler library and prints, for every
 * class loader that defined a class whose name starts with PREFIX, the chain of references from a GC root to it. A
 * chain that ends without a root means the holder is one a heap dump does not show (compiled code on a stack, a
 * VM-internal handle). Run by {@link HeapRetention} in a JVM of its own.
 */
public final class HeapRetentionWalker {

    private static final int MAX_CHAIN = 40;
    private static final int MAX_VISITED = 5_000_000;

    private HeapRetentionWalker() {}

    public static void main(String[] args) throws IOException {
        Heap heap = HeapFactory.createHeap(new File(args[0]));
        String prefix = args[1];
        Map<Long, List<JavaClass>> byLoader = new LinkedHashMap<>();
        for (Object o : heap.getAllClasses()) {
            JavaClass c = (JavaClass) o;
            if (!c.getName().startsWith(prefix) || c.getName().endsWith("[]")) {
                continue;
            }
            Instance loader = c.getClassLoader();
            if (loader != null) {
                byLoader.computeIfAbsent(loader.getInstanceId(), k -> new ArrayList<>())
                        .add(c);
            }
        }
        System.out.println(byLoader.size() + " class loaders define classes of " + prefix);
        for (Map.Entry<Long, List<JavaClass>> e : byLoader.entrySet()) {
            Instance loader = heap.getInstanceByID(e.getKey());
            System.out.println(
                    "loader " + describe(heap, loader) + ", " + e.getValue().size() + " classes, e.g. "
                            + e.getValue().getFirst().getName());
            printChain(heap, loader);
        }
    }

    private static void printChain(Heap heap, Instance target) {
        Instance current = target;
        for (int i = 0; i < MAX_CHAIN; i++) {
            if (current.isGCRoot()) {
                GCRoot root = heap.getGCRoot(current);
                System.out.println("    = GC root: " + (root == null ? "?" : root.getKind()));
                if (root instanceof JavaFrameGCRoot frame && frame.getThreadGCRoot() != null) {
                    printThread(heap, frame.getThreadGCRoot(), frame.getFrameNumber());
                }
                return;
            }
            Instance holder = current.getNearestGCRootPointer();
            if (holder == null) {
                System.out.println("    <- no strong path from a GC root the heap dump shows");
                printAnyPath(heap, current);
                return;
            }
            System.out.println("    <- " + describe(heap, holder) + via(holder, current));
            current = holder;
        }
        System.out.println("    <- ...");
    }

    /**
     * Searches backwards from {@code target} over every reference, weak and soft ones included (the nearest-root
     * search skips {@code Reference.referent}), and prints the first chain that reaches a GC root: a soft reference
     * keeps its referent through any number of System.gc() calls while the heap has room.
     */
    private static void printAnyPath(Heap heap, Instance target) {
        Map<Long, Object> cameFrom = new HashMap<>();
        ArrayDeque<Instance> queue = new ArrayDeque<>();
        cameFrom.put(target.getInstanceId(), "target");
        queue.add(target);
        Map<Long, List<JavaClass>> classesByLoader = new HashMap<>();
        for (Object o : heap.getAllClasses()) {
            JavaClass c = (JavaClass) o;
            Instance l = c.getName().endsWith("[]") ? null : c.getClassLoader();
            if (l != null) {
                classesByLoader
                        .computeIfAbsent(l.getInstanceId(), k -> new ArrayList<>())
                        .add(c);
            }
        }
        while (!queue.isEmpty() && cameFrom.size() < MAX_VISITED) {
            Instance i = queue.poll();
            // What holds i: the fields and array slots that point at it, and, as the JVM sees it, every class a
            // loader defined (a class keeps its loader) and every instance of a class (an object keeps its class).
            List<Map.Entry<Instance, String>> holders = new ArrayList<>();
            for (Object o : i.getReferences()) {
                Value v = (Value) o;
                if (!isWeakReferent(v)) {
                    holders.add(Map.entry(v.getDefiningInstance(), edgeName(v)));
                }
            }
            for (JavaClass c : classesByLoader.getOrDefault(i.getInstanceId(), List.of())) {
                Instance mirror = heap.getInstanceByID(c.getJavaClassId());
                if (mirror != null) {
                    holders.add(Map.entry(mirror, " (defined by)"));
                }
            }
            JavaClass asClass = heap.getJavaClassByID(i.getInstanceId());
            if (asClass != null) {
                for (Object o : asClass.getInstances()) {
                    holders.add(Map.entry((Instance) o, " (its class)"));
                }
            }
            for (Map.Entry<Instance, String> h : holders) {
                Instance from = h.getKey();
                if (from == null || cameFrom.containsKey(from.getInstanceId())) {
                    continue;
                }
                cameFrom.put(from.getInstanceId(), new Step(i, h.getValue()));
                if (from.isGCRoot()) {
                    System.out.println("    any-reference chain, root first:");
                    GCRoot root = heap.getGCRoot(from);
                    System.out.println("      GC root " + (root == null ? "?" : root.getKind()));
                    for (Instance at = from; at != null; ) {
                        Object step = cameFrom.get(at.getInstanceId());
                        if (!(step instanceof Step next)) {
                            break;
                        }
                        System.out.println("      " + describe(heap, at) + next.edge + " ->");
                        at = next.to;
                    }
                    System.out.println("      " + describe(heap, target));
                    if (root instanceof JavaFrameGCRoot frame && frame.getThreadGCRoot() != null) {
                        printThread(heap, frame.getThreadGCRoot(), frame.getFrameNumber());
                    }
                    return;
                }
                queue.add(from);
            }
        }
        System.out.println("    <- no chain of any references either (" + cameFrom.size() + " objects searched):"
                + " the holder is outside the heap (compiled code on a stack, a VM-internal handle)");
    }

    /** A weak or phantom reference's referent: it keeps nothing alive (a soft one does, until memory is short). */
    private static boolean isWeakReferent(Value v) {
        if (!(v instanceof FieldValue f)
                || !f.getField().getName().equals("referent")
                || v.getDefiningInstance() == null) {
            return false;
        }
        for (JavaClass c = v.getDefiningInstance().getJavaClass(); c != null; c = c.getSuperClass()) {
            String name = c.getName();
            if (name.equals("java.lang.ref.WeakReference") || name.equals("java.lang.ref.PhantomReference")) {
                return true;
            }
        }
        return false;
    }

    private record Step(Instance to, String edge) {}

    private static String edgeName(Value v) {
        if (v instanceof FieldValue f) {
            return (f.getField().isStatic() ? " static ." : " .") + f.getField().getName();
        }
        if (v instanceof ArrayItemValue a) {
            return " [" + a.getIndex() + "]";
        }
        return "";
    }

    /** The thread whose frame {@code frameNumber} holds the chain, and its stack down to a little past that frame. */
    private static void printThread(Heap heap, ThreadObjectGCRoot thread, int frameNumber) {
        Object name = thread.getInstance().getValueOfField("name");
        System.out.println("      in frame " + frameNumber + " of thread "
                + (name instanceof Instance i ? DetailsOf.string(i) : String.valueOf(name)));
        StackTraceElement[] stack = thread.getStackTrace();
        if (stack == null) {
            return;
        }
        for (int i = 0; i < stack.length && i <= frameNumber + 3; i++) {
            System.out.println("        " + (i == frameNumber ? "> " : "  ") + stack[i]);
        }
    }

    /** A java.lang.String instance's text (Latin-1 or UTF-16 coder). */
    private static final class DetailsOf {
        static String string(Instance s) {
            Object value = s.getValueOfField("value");
            if (!(value instanceof PrimitiveArrayInstance bytes)) {
                return "?";
            }
            List<?> values = bytes.getValues();
            Object coder = s.getValueOfField("coder");
            boolean utf16 = coder != null && !"0".equals(String.valueOf(coder));
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < values.size(); i += utf16 ? 2 : 1) {
                int b = Integer.parseInt(String.valueOf(values.get(i))) & 0xff;
                if (utf16) {
                    b |= (Integer.parseInt(String.valueOf(values.get(i + 1))) & 0xff) << 8;
                }
                sb.append((char) b);
            }
            return sb.toString();
        }
    }

    private static String via(Instance holder, Instance held) {
        if (holder instanceof ObjectArrayInstance array) {
            List<?> values = array.getValues();
            return " [" + values.indexOf(held) + "]";
        }
        for (Object o : holder.getFieldValues()) {
            if (o instanceof ObjectFieldValue v && held.equals(v.getInstance())) {
                return " ." + v.getField().getName();
            }
        }
        for (Object o : holder.getStaticFieldValues()) {
            if (o instanceof ObjectFieldValue v && held.equals(v.getInstance())) {
                return " static ." + ((FieldValue) v).getField().getName();
            }
        }
        return "";
    }

    private static String describe(Heap heap, Instance i) {
        JavaClass asClass = heap.getJavaClassByID(i.getInstanceId());
        if (asClass != null) {
            return "class " + asClass.getName();
        }
        return i.getJavaClass().getName() + "#" + i.getInstanceNumber();
    }
}
