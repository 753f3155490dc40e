/** {@code fsp bench recovery}: kill -9 of a supervised fspd, the time until it serves again, against a cold restart. */
package org.fsp.bench.recovery;
