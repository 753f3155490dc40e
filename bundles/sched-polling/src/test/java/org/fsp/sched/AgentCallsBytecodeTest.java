package org.fsp.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.InvokeDynamicInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.classfile.instruction.TypeCheckInstruction;
import java.lang.constant.DirectMethodHandleDesc;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Reads this bundle's compiled classes and holds them to {@link AgentCalls}' rule: no method outside it calls an
 * agent's method, casts to an agent type or tests for one. A call added elsewhere would let the JIT write an agent's
 * class into a worker's long-lived compiled frame, and an upgraded-away ipc-shm could no longer be unloaded.
 */
class AgentCallsBytecodeTest {

    private static final Set<String> AGENT_TYPES = Set.of("org/fsp/api/sched/Agent", "org/fsp/api/sched/FutexAgent");

    @Test
    void shouldReachAgentsOnlyThroughAgentCalls() throws IOException, URISyntaxException {
        Path classes = Path.of(AgentCalls.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        List<String> offences = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> files = Files.walk(classes.resolve("org/fsp/sched"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                ClassModel model = ClassFile.of().parse(file);
                if (model.thisClass().asInternalName().equals("org/fsp/sched/AgentCalls")) {
                    continue;
                }
                checked++;
                for (MethodModel method : model.methods()) {
                    method.code().ifPresent(code -> offences.addAll(agentReferences(model, method, code)));
                }
            }
        }
        assertTrue(checked >= 5, "only " + checked + " classes found under " + classes);
        assertEquals(List.of(), offences, "agent calls, casts or type tests outside AgentCalls");
    }

    @Test
    void shouldSeeACallThatBreaksTheRule() throws IOException {
        ClassModel model;
        try (var in = BreaksTheRule.class.getResourceAsStream("AgentCallsBytecodeTest$BreaksTheRule.class")) {
            model = ClassFile.of().parse(in.readAllBytes());
        }
        List<String> offences = new ArrayList<>();
        for (MethodModel method : model.methods()) {
            method.code().ifPresent(code -> offences.addAll(agentReferences(model, method, code)));
        }
        assertEquals(3, offences.size(), offences.toString());
    }

    private static List<String> agentReferences(ClassModel model, MethodModel method, CodeModel code) {
        List<String> out = new ArrayList<>();
        String where =
                model.thisClass().asInternalName() + "." + method.methodName().stringValue();
        code.forEach(element -> {
            if (element instanceof InvokeInstruction call
                    && AGENT_TYPES.contains(call.owner().asInternalName())) {
                out.add(where + " calls " + call.owner().asInternalName() + "."
                        + call.name().stringValue());
            } else if (element instanceof InvokeDynamicInstruction indy) {
                // A method reference (Agent::roleName) is a handle among the bootstrap arguments, not an invoke.
                for (var arg : indy.bootstrapArgs()) {
                    if (arg instanceof DirectMethodHandleDesc handle
                            && AGENT_TYPES.contains(internalName(handle.owner().descriptorString()))) {
                        out.add(where + " refers to " + handle.owner().displayName() + "::" + handle.methodName());
                    }
                }
            } else if (element instanceof TypeCheckInstruction check
                    && AGENT_TYPES.contains(check.type().asInternalName())
                    && !isErasureCastInTheModel(model, check)) {
                out.add(where + " " + check.opcode() + " " + check.type().asInternalName());
            }
        });
        return out;
    }

    private static String internalName(String descriptor) {
        return descriptor.substring(1, descriptor.length() - 1);
    }

    /**
     * The model's reconfiguration code takes agents out of generic lists (a cast the compiler writes): it runs on the
     * changer's thread, in frames that return, so it may. A worker's code may not.
     */
    private static boolean isErasureCastInTheModel(ClassModel model, TypeCheckInstruction check) {
        return model.thisClass().asInternalName().equals("org/fsp/sched/PollingThreadModel")
                && check.opcode() == java.lang.classfile.Opcode.CHECKCAST
                && check.type().asInternalName().equals("org/fsp/api/sched/Agent");
    }

    /** Three offences the reader must find: a direct call, a method reference and a type test. */
    @SuppressWarnings("unused")
    private static final class BreaksTheRule {
        static boolean offend(org.fsp.api.sched.Agent agent) {
            agent.wakeUp();
            java.util.function.Function<org.fsp.api.sched.Agent, String> name = org.fsp.api.sched.Agent::roleName;
            return agent instanceof org.fsp.api.sched.FutexAgent;
        }
    }
}
