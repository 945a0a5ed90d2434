package dev.siderolink.server.docs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The names a pattern finds in text files: what the reference tests hold against the code. */
final class Mentions {

    private Mentions() {}

    /** Per existing file, in the order given, the distinct matches, sorted. */
    static Map<Path, Set<String>> in(List<Path> files, Pattern pattern) throws IOException {
        Map<Path, Set<String>> found = new LinkedHashMap<>();
        for (Path file : files) {
            if (!Files.exists(file)) {
                continue;
            }
            Set<String> names = new TreeSet<>();
            Matcher m = pattern.matcher(Files.readString(file));
            while (m.find()) {
                names.add(m.group());
            }
            found.put(file, names);
        }
        return found;
    }
}
