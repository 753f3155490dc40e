/**
 * The wire format between FS Lib and the IPC front end: the layout of the shared segment (header, lanes, slots, data
 * buffers, futex words), the opcodes, the request and response flyweights and the hello/welcome handshake messages.
 * Both sides compile against this one package so that the format is written down once.
 *
 * <p>Overview: the client connects to the server's UNIX socket and sends a hello ({@link HandshakeDescriptor}); the
 * server answers with a welcome and a sealed memfd (SCM_RIGHTS). The segment ({@link ChannelHeaderDescriptor},
 * {@link ChannelLayout}) holds several lanes ({@link LaneDescriptor}), each a ring of slots ({@link SlotDescriptor})
 * that client threads fill and one server worker drains in order; a client of minor 3 also gets a change-event ring
 * ({@link ChangeEventsDescriptor}) in which the server tells it of changes in the directories it watches.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.6.0")
package org.fsp.api.channel;
