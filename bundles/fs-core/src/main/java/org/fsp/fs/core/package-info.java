/** the file system: layout, journal, cache, permissions */
package org.fsp.fs.core;
