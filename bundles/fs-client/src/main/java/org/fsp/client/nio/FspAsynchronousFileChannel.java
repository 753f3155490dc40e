package org.fsp.client.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileLock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * An AsynchronousFileChannel as the platform builds one on Linux: a {@link FspFileChannel} whose calls run on an
 * executor (the caller's, or the file system's shared pool). FS Lib calls block their thread briefly (a spin, then a
 * futex sleep), so a pool thread per outstanding request is what asynchronous I/O costs here.
 */
final class FspAsynchronousFileChannel extends AsynchronousFileChannel {

    @FunctionalInterface
    private interface IoCall<V> {
        V call() throws IOException;
    }

    private final FspFileChannel channel;
    private final ExecutorService executor;

    FspAsynchronousFileChannel(FspFileChannel channel, ExecutorService executor) {
        this.channel = channel;
        this.executor = executor;
    }

    private <V> CompletableFuture<V> submit(IoCall<V> call) {
        CompletableFuture<V> f = new CompletableFuture<>();
        if (!channel.isOpen()) {
            f.completeExceptionally(new ClosedChannelException());
            return f;
        }
        executor.execute(() -> {
            try {
                f.complete(call.call());
            } catch (ClosedChannelException e) {
                f.completeExceptionally(new AsynchronousCloseException());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    private static <V, A> void handle(CompletableFuture<V> f, A attachment, CompletionHandler<V, ? super A> handler) {
        f.whenComplete((v, t) -> {
            if (t == null) {
                handler.completed(v, attachment);
            } else {
                handler.failed(t instanceof java.util.concurrent.CompletionException c ? c.getCause() : t, attachment);
            }
        });
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public AsynchronousFileChannel truncate(long size) throws IOException {
        channel.truncate(size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        channel.force(metaData);
    }

    @Override
    public <A> void lock(
            long position, long size, boolean shared, A attachment, CompletionHandler<FileLock, ? super A> handler) {
        handle(lock(position, size, shared), attachment, handler);
    }

    @Override
    public CompletableFuture<FileLock> lock(long position, long size, boolean shared) {
        return submit(() -> channel.lock(position, size, shared, true, this));
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return channel.lock(position, size, shared, false, this);
    }

    @Override
    public <A> void read(ByteBuffer dst, long position, A attachment, CompletionHandler<Integer, ? super A> handler) {
        handle(read(dst, position), attachment, handler);
    }

    @Override
    public CompletableFuture<Integer> read(ByteBuffer dst, long position) {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        return submit(() -> channel.read(dst, position));
    }

    @Override
    public <A> void write(ByteBuffer src, long position, A attachment, CompletionHandler<Integer, ? super A> handler) {
        handle(write(src, position), attachment, handler);
    }

    @Override
    public CompletableFuture<Integer> write(ByteBuffer src, long position) {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        return submit(() -> channel.write(src, position));
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
