package org.fsp.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void shouldWriteWholeNumbersAsDoublesWithoutLosingTheirZeros() {
        assertEquals("113770\n", Json.write(113770.0));
        assertEquals("3.214\n", Json.write(3.214));
        assertEquals("0.000123457\n", Json.write(0.0001234567));
    }

    @Test
    void shouldWriteNestedMapsAndListsWithEscapedStringsAndNulls() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "a \"b\"\n");
        m.put("list", Arrays.asList(1, null, true));
        m.put("empty", List.of());
        m.put("nan", Double.NaN);

        assertEquals(
                "{\n  \"name\": \"a \\\"b\\\"\\n\",\n  \"list\": [\n    1,\n    null,\n    true\n  ],\n"
                        + "  \"empty\": [],\n  \"nan\": null\n}\n",
                Json.write(m));
    }

    @Test
    void shouldQuoteAStringAloneAsItQuotesOneInAMap() {
        assertEquals("\"tab\\there\\r\\n\\u0001 \\\"q\\\"\"", Json.quote("tab\there\r\n\u0001 \"q\""));
    }
}
