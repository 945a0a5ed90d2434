package dev.siderolink.server.config;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Matches when {@code siderolink.store} selects the store named by {@link ConditionalOnStore}. */
class StoreCondition implements Condition {

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        StoreKind wanted = (StoreKind) metadata.getAnnotationAttributes(ConditionalOnStore.class.getName()).get("value");
        StoreKind actual = Binder.get(context.getEnvironment())
                .bind("siderolink.store", StoreKind.class)
                .orElse(StoreKind.STANDALONE);
        return actual == wanted;
    }
}
