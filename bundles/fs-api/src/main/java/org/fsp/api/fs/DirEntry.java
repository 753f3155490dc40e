package org.fsp.api.fs;

/**
 * One directory entry from readdir.
 *
 * @param name the entry's name (no slash)
 * @param ino its inode number
 * @param mode its file type bits ({@link FileMode#S_IFMT} part of the mode)
 * @param cookie pass this to the next readdir to continue after this entry
 */
public record DirEntry(String name, long ino, int mode, long cookie) {}
