package org.fsp.client;

import java.io.IOException;

/**
 * The FS process behind a channel is gone (its socket closed, or it closed the channel): FS Lib reconnects and
 * re-issues the call instead of failing it. Never reaches the application.
 */
final class ServerGoneException extends IOException {

    ServerGoneException(String message) {
        super(message);
    }
}
