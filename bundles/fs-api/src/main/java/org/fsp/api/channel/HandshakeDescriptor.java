package org.fsp.api.channel;

/**
 * The two messages on the UNIX socket that set a channel up; nothing else is ever sent on it. The client sends a
 * hello, the server answers with a welcome carrying the segment's memfd by SCM_RIGHTS (unless the status is an
 * errno), then both keep the socket open: its closing tells the server that the client is gone.
 *
 * <pre>
 *  hello (client to server, 32 bytes)           welcome (server to client, 48 bytes)
 *   0  magic (64 bits)                            0  magic (64 bits)
 *   8  version (major 16 bits, minor 16 bits)     8  version
 *  12  requested lanes                           12  status (0, or the errno refusing the client)
 *  16  session token, high (64 bits)             16  lane count
 *  24  session token, low (64 bits)              20  slots per lane
 *                                                24  slot data bytes
 *                                                28  features ({@link #FEATURE_RECORDS},
 *                                                    {@link #FEATURE_CHANGE_EVENTS})
 *                                                32  segment bytes (64 bits)
 *                                                40  client id (64 bits)
 * </pre>
 *
 * <p>The session token (channel minor version 1) is 128 random bits FS Lib makes once and presents again when it
 * reconnects after a restart of the server; a hello of {@link #HELLO_V0_BYTES} has none (the client is not recoverable).
 * The server refuses a token that another uid presented first (EACCES).
 */
public final class HandshakeDescriptor {

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int HELLO_LANES_OFFSET = 12;
    public static final int HELLO_TOKEN_HIGH_OFFSET = 16;
    public static final int HELLO_TOKEN_LOW_OFFSET = 24;
    public static final int HELLO_BYTES = 32;
    /** A hello of channel minor version 0: no session token. */
    public static final int HELLO_V0_BYTES = 16;

    public static final int WELCOME_STATUS_OFFSET = 12;
    public static final int WELCOME_LANE_COUNT_OFFSET = 16;
    public static final int WELCOME_SLOTS_PER_LANE_OFFSET = 20;
    public static final int WELCOME_SLOT_DATA_BYTES_OFFSET = 24;
    public static final int WELCOME_FEATURES_OFFSET = 28;
    public static final int WELCOME_SEGMENT_BYTES_OFFSET = 32;
    public static final int WELCOME_CLIENT_ID_OFFSET = 40;
    public static final int WELCOME_BYTES = 48;

    /** Welcome feature: the server keeps exactly-once records for this session's token across its restarts. */
    public static final int FEATURE_RECORDS = 1;
    /**
     * Welcome feature (minor 3): the segment ends with a change-event area ({@link ChangeEventsDescriptor}), whose
     * bytes the segment bytes include; given only to a client whose hello said minor 3 or later.
     */
    public static final int FEATURE_CHANGE_EVENTS = 2;

    private HandshakeDescriptor() {}
}
